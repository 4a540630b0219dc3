"""Background work of after-sales: `manage.py db_worker` runs it."""

from django_tasks import task

from .services import tickets


@task()
def send_ticket_reply(message_id):
    """Email one reply on a complaint ticket to its customer."""
    tickets.send_reply(message_id)
    return message_id
