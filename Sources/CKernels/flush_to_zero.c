#include "CKernels.h"
#if defined(__x86_64__)
#include <xmmintrin.h>
void sl_enable_flush_to_zero(void) {
    /* FTZ (bit 15) and DAZ (bit 6) */
    _mm_setcsr(_mm_getcsr() | 0x8040);
}
#else
void sl_enable_flush_to_zero(void) {}
#endif
