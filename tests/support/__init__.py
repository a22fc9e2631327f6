"""What the tests share: temporary courses and real nbgrader runs (`course`), JupyterLab in a
browser (`lab_browser`) and cached virtual environments (`venvs`)."""
