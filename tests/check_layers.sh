#!/bin/sh
# The layers of README's Layout, by what each folder includes (CTest: layers). The front ends'
# build already refuses engine internals and libtorch (their include path lacks them); this also
# names every offending line, and checks what the include path cannot tell apart:
#   app/, ui/   include the engine only through its public API: "souplab/..." (never "engine/...",
#               libtorch or ATen);
#   app/glue    no widgets: nothing from ui/ or QtWidgets;
#   app/cli     no Qt at all;
#   engine/include/souplab   torch-free and self-contained: only "souplab/..." of its own.
root=${1:?usage: check_layers.sh REPOSITORY_ROOT}
include='^[[:space:]]*#[[:space:]]*include[[:space:]]*'
status=0
check() {  # check FOLDER PATTERN WHAT
  hits=$(grep -rnE "$include$2" "$root/$1" --include='*.h' --include='*.cpp' || true)
  if [ -n "$hits" ]; then
    echo "$1 must not include $3:"
    echo "$hits"
    status=1
  fi
}
check app '"engine/' 'engine internals (use "souplab/..." from engine/include)'
check ui '"engine/' 'engine internals (use "souplab/..." from engine/include)'
check app '<(torch|ATen|c10)/' 'libtorch'
check ui '<(torch|ATen|c10)/' 'libtorch'
check app/glue '"ui/' 'widgets from ui/'
check app/glue '<(QtWidgets|QWidget|QDialog|QMainWindow)' 'QtWidgets'
check app/cli '<Q' 'Qt'
check engine/include/souplab '"(engine|app|ui)/' 'anything but the public API'
check engine/include/souplab '<(torch|ATen|c10|Q)' 'libtorch or Qt'
[ $status -eq 0 ] && echo "layers hold: app/ and ui/ use engine/include/souplab only ($(find "$root/app" "$root/ui" -name '*.[ch]*' | wc -l) files checked)"
exit $status
