// A 2019-style CPU op on TH's BLAS wrappers (test input written for repro; column-major BLAS).
#include <TH/TH.h>

// C (m x n) = A (m x k) * B (k x n), all column-major; then y = C^T x; then A^T (k x m) * B2.
extern "C" void thblas_fixture(const float *a, const float *b, const float *x, float *c,
                               float *y, const double *ad, const double *bd, double *cd) {
  int m = 3, n = 4, k = 2;
  THFloatBlas_gemm('n', 'n', m, n, k, 1.0f, a, m, b, k, 0.0f, c, m);
  THFloatBlas_gemv('t', m, n, 2.0f, c, m,
                   x, 1, 0.0f,
                   y, 1);
  THDoubleBlas_gemm('t', 'n', m, n, k, 1.0, ad, k, bd, k, 0.0, cd, m);  // A stored k x m
  // THFloatBlas_gemm('n', 'n', m, n, k) in a comment stays
  const char *doc = "THFloatBlas_gemm('n', ...) in a string stays";
  (void)doc;
}
