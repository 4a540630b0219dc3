"""Background work for customer notifications: `manage.py db_worker` runs it."""

from django_tasks import task

from ..services import notifications


@task()
def send_notification(notification_id):
    """Send one queued notification; the service retries or gives up on failure by itself."""
    notification = notifications.send_notification(notification_id)
    return notification.status if notification is not None else None
