# Scope -std=c++20 to our C++ objects: on nginx's C files it is an error.
for wa_src in $WA_MODULE_SRCS; do
    wa_dir=`dirname $wa_src`
    wa_obj="$NGX_OBJS/addon/`basename $wa_dir`/`basename $wa_src .cpp`.o"
    echo "$wa_obj: CFLAGS += -std=c++20 -fvisibility=hidden" >> $NGX_MAKEFILE
done
