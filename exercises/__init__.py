"""Exercises: one folder per exercise, the catalog that loads them, and the fault kit.

Plain Python, no Django. The platform calls `exercises.catalog`, `exercises.runner`,
`exercises.check` and `exercises.grading`; hidden test suites use `exercises.faultkit`.
"""
