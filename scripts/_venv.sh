# Sourced by scripts/narrate and scripts/test: create .venv at the repo root on first use
# and reinstall narrator into it whenever pyproject.toml changes.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.narrator-installed"

find_python() {
    for candidate in "${PYTHON:-}" python3 python; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "narrator: Python 3.10 or newer is needed; install it or set PYTHON=/path/to/python3" >&2
    return 1
}

want="$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python="$(find_python)" || exit 1
    if [ ! -x "$venv/bin/python" ]; then
        echo "narrator: creating $venv (first run only)" >&2
        "$python" -m venv "$venv" || exit 1
    fi
    echo "narrator: installing dependencies into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 || exit 1
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[test]" >&2 || {
        echo "narrator: installing dependencies failed (see above); fix it and run again" >&2
        exit 1
    }
    echo "$want" >"$stamp"
fi
