from narrator.cli import run

run()
