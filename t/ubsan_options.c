/* Preloaded into the uninstrumented nginx of the sanitizer run (build.sh),
 * between libasan and libubsan.
 *
 * GCC's libubsan initialises lazily, at its first report, and only then reads
 * UBSAN_OPTIONS from /proc/self/environ. By that time nginx has overwritten
 * its environment area with the process title (ngx_setproctitle), so the
 * options were silently lost (no stack traces). libubsan asks the weak
 * __ubsan_default_options() hook for defaults: this one answers with the
 * UBSAN_OPTIONS seen at load time, before nginx touched the environment. */
#include <stdlib.h>
#include <string.h>

static char ubsan_options[4096];

__attribute__((constructor)) static void keep_ubsan_options(void) {
    const char *o = getenv("UBSAN_OPTIONS");
    if (o) strncpy(ubsan_options, o, sizeof ubsan_options - 1);
}

const char *__ubsan_default_options(void) { return ubsan_options; }
