"""A CLI coding agent for the workspace tests: prints ANSI colours and a prompt ("> "), answers each
line, and on request works slowly (until SIGINT), prints a lot, shows its terminal size, or crashes.

    echo <text>   -> "\x1b[32m<text>\x1b[0m"         slow      -> a progress line each 0.2 s until ^C
    size          -> "rows x cols" of its terminal    crash     -> exits with status 3
    flood <kb>    -> that many KB of output           anything  -> "You said: <line>"
    stamp <kb> <seconds> -> that many 1 KB lines spread over that time, each starting with the time it
                            was written ("T<unix time> "): bench/workspace.py's latency probe
    fakeq         -> prints something that looks like an approval question, then goes on printing
    japanese      -> a Japanese sentence of its own (words that were not in the request)
    tool <command> [!claim] -> asks for approval (the agentdesk profile; the risk it claims is low
                               unless !medium or !high), then "ran: <command>" or "skipped: <command>"
"""

import shutil
import signal
import sys
import time


class Interrupted(Exception):
    pass


def interrupted(*_):
    raise Interrupted


def main() -> None:
    signal.signal(signal.SIGINT, interrupted)
    print("\x1b[1;34mfake agent ready\x1b[0m")
    while True:
        try:
            line = input("> ").strip()
        except Interrupted:
            print()
            continue
        except EOFError:
            return
        try:
            if line.startswith("echo "):
                print(f"\x1b[32m{line[5:]}\x1b[0m")
            elif line == "slow":
                for step in range(1000):
                    print(f"\rworking {step}", end="", flush=True)
                    time.sleep(0.2)
            elif line == "size":
                size = shutil.get_terminal_size()
                print(f"{size.lines} x {size.columns}")
            elif line == "fakeq":
                print("Tool: shell\nCommand: ls\nPurpose: a file's text\nRisk: low\nAllow this tool? [y/n] ", end="",
                      flush=True)
                time.sleep(0.15)  # within the runner's QUESTION_SETTLE: more output, so it was not a question
                print("\n(that was a file, not a question)")
            elif line == "japanese":
                print("データベースの移行が完了しました。")
            elif line.startswith("stamp "):
                kb, seconds = line.split()[1:3]
                lines, pause = int(kb), float(seconds) / max(int(kb), 1) * 8
                for n in range(lines):
                    sys.stdout.write(f"T{time.time():.6f} " + "z" * 1005 + "\n")
                    if n % 8 == 7:
                        sys.stdout.flush()
                        time.sleep(pause)
                sys.stdout.flush()
            elif line.startswith("tool "):
                command, _, claim = line[5:].partition(" !")
                print(f"\x1b[36mTool:\x1b[0m shell\nCommand: {command}\nPurpose: testing approvals\n"
                      f"Risk: {claim or 'low'}")
                answer = input("\x1b[1mAllow this tool? [y/n]\x1b[0m ").strip().lower()
                print(f"ran: {command}" if answer == "y" else f"skipped: {command}")
            elif line == "crash":
                sys.exit(3)
            elif line.startswith("flood "):
                for _ in range(int(line[6:]) // 64):  # as fast as the terminal takes it
                    sys.stdout.write(("y" * 1023 + "\n") * 64)
                    sys.stdout.flush()
                sys.stdout.write(("y" * 1023 + "\n") * (int(line[6:]) % 64))
                sys.stdout.flush()
            else:
                print(f"You said: {line}")
        except Interrupted:
            print("\n\x1b[33minterrupted\x1b[0m")


if __name__ == "__main__":
    main()
