"""Entry point: `python3 -m hello`. Reads its parameters through the innerspace runtime."""

import time

from innerspace import runtime


def main() -> None:
    params = runtime.params()
    name = params.get("name", "World")
    delay = float(params.get("delay", 0))
    runtime.progress(0.0, f"greeting {name} in {delay:g} s")
    if delay > 0:
        time.sleep(delay)
    greeting = f"Hello, {name}!"
    runtime.write_result("greeting.txt", greeting + "\n")
    runtime.progress(1.0, "done")
    print(greeting)


if __name__ == "__main__":
    main()
