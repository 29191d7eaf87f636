"""The notification centre: short messages to one user, shown under the bell in the top bar.

Any module tells a user something with :func:`loopcrm.platform.notifications.service.notify`,
inside its own unit of work, so the notification exists exactly when the change that caused it
was committed. A notification keeps its message as an English msgid with parameters and is
translated when it is shown, in the language the reader has *then*. Users only ever see their
own notifications; there is no object type to grant, because nobody reads another's.
"""
