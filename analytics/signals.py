"""Receivers that keep the rollups current. The lower apps know nothing of analytics: they send their
usual signals (a saved order event or payment, events and payments written in bulk, a shipment
transition), and these count them."""

from django.db.models.signals import post_init, post_save, pre_save
from django.dispatch import receiver
from django_fsm.signals import post_transition

from logistics.models import Shipment
from orders.models import Order, OrderEvent, Payment
from orders.signals import written_in_bulk

from . import services


@receiver(post_save, sender=OrderEvent, dispatch_uid="analytics_count_order_event")
def count_order_event(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        services.order_events_recorded([instance])


@receiver(written_in_bulk, sender=OrderEvent, dispatch_uid="analytics_count_order_events_in_bulk")
def count_order_events_in_bulk(sender, instances, **kwargs):
    services.order_events_recorded(instances)


@receiver(post_save, sender=Payment, dispatch_uid="analytics_count_payment")
def count_payment(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        services.payments_recorded([instance])


@receiver(written_in_bulk, sender=Payment, dispatch_uid="analytics_count_payments_in_bulk")
def count_payments_in_bulk(sender, instances, **kwargs):
    services.payments_recorded(instances)


@receiver(post_transition, sender=Shipment, dispatch_uid="analytics_note_shipment_step")
def note_shipment_step(sender, instance, name, **kwargs):
    services.note_shipment_transition(instance, name)


@receiver(post_save, sender=Shipment, dispatch_uid="analytics_count_shipment_steps")
def count_shipment_steps(sender, instance, raw=False, **kwargs):
    if not raw:
        services.shipment_saved(instance)


@receiver(post_init, sender=Order, dispatch_uid="analytics_remember_province")
def remember_province(sender, instance, **kwargs):
    services.remember_province(instance)


@receiver(pre_save, sender=Order, dispatch_uid="analytics_check_province_change")
def check_province_change(sender, instance, raw=False, update_fields=None, **kwargs):
    if not raw:
        services.check_province_change(instance, update_fields)


@receiver(post_save, sender=Order, dispatch_uid="analytics_count_province_change")
def count_province_change(sender, instance, raw=False, **kwargs):
    if not raw:
        services.province_saved(instance)
