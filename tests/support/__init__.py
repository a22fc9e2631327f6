"""What the tests share: temporary courses and real nbgrader runs (`course`), JupyterLab in a
browser (`lab_browser`), cached virtual environments (`venvs`) and what a test needs from outside
Python, skipped or required (`requirements`)."""
