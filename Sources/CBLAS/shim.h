#include <cblas.h>
// OpenBLAS extension: thread count control (declared in OpenBLAS's cblas.h).
