"""Collection engine: six registered collectors, the hourly/daily/retention jobs, the leader.

Imports flow one way: ``collectors → db``; nothing here imports Dash or Flask.
"""
