"""Activities: notes, calls, meetings, emails and tasks on one timeline per record (module 2).

Filled in below as the module grows; see ``service`` for the functions other modules call.
"""
