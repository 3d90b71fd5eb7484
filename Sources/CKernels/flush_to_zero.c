#include "CKernels.h"
#if defined(__x86_64__)
#include <xmmintrin.h>
unsigned sl_flush_to_zero_begin(void) {
    unsigned previous = _mm_getcsr();
    _mm_setcsr(previous | 0x8040);   /* FTZ (bit 15) and DAZ (bit 6) */
    return previous;
}
void sl_flush_to_zero_end(unsigned previous) { _mm_setcsr(previous); }
#else
unsigned sl_flush_to_zero_begin(void) { return 0; }
void sl_flush_to_zero_end(unsigned previous) { (void)previous; }
#endif
