"""Background work of after-sales: `manage.py db_worker` runs it."""

from django_tasks import task

from .services import tickets


@task()
def send_ticket_reply(message_id, attempt=1):
    """Email one reply on a complaint ticket to its customer; the service tries again or gives up
    on failure by itself."""
    tickets.send_reply(message_id, attempt)
    return message_id
