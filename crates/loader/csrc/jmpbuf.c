/* The setjmp/longjmp glue of aotc-loader's trap handling: the only C in the crate.
 *
 * `aotc_call_with_jmpbuf` establishes a jump target, publishes its address through `slot`, and
 * calls `body(data)`. When `aotc_longjmp` is called with that address (from a signal handler or
 * a runtime helper, while `body` is still running), the call returns 1 instead of 0.
 *
 * The signal mask is neither saved nor restored (`sigsetjmp(.., 0)`): the runtime installs its
 * handlers with SA_NODEFER and an empty sa_mask, so jumping out of a handler leaves the mask as
 * it was, and a call costs no system call.
 */
#include <setjmp.h>

int aotc_call_with_jmpbuf(void **slot, void (*body)(void *), void *data) {
    sigjmp_buf buf;
    if (sigsetjmp(buf, 0) != 0) {
        return 1;
    }
    *slot = (void *)&buf;
    body(data);
    return 0;
}

void aotc_longjmp(void *buf) {
    siglongjmp(*(sigjmp_buf *)buf, 1);
}
