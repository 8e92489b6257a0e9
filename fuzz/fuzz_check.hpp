// Shared by the libFuzzer targets: an invariant that must hold. A failed
// check prints what broke and aborts, which libFuzzer reports as a crash
// and saves the input as crash-<sha1>.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,       \
                         __LINE__, #cond);                                        \
            std::abort();                                                         \
        }                                                                         \
    } while (0)
