"""The live class (issue 15): a teacher pushes views and questions to a room, students answer, the teacher sees the tally.

rules.py holds the rules (codes, tokens, sizes, the tally) as plain functions; service.py applies
them to a Store (app/store), where every class lives, so every worker process and replica sees
the same classes; feed.py turns a class's event stream into Server-Sent Events.
"""
