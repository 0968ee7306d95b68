from launchpad.cli import app

app(prog_name="launchpad")
