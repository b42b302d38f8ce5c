/* Wine 8 lacks bcryptprimitives.dll, which Rust's std (1.78 and later) loads for its random
 * numbers (ProcessPrng). This stand-in, built with mingw-w64 into the Wine prefix by
 * `cargo dev ci`, answers from RtlGenRandom (advapi32's SystemFunction036) instead.
 * Only for running the tests under Wine; a real Windows has the DLL. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
