"""The fake FCM counts duplicates: what bench/scaleout.py's "0 duplicates" rests on."""

from datetime import timedelta

from companion.timeutil import utcnow
from notifications.senders import FcmSender, Push


def push(outbox_id: int, fid: str) -> Push:
    return Push(outbox_id, outbox_id, fid, "android", "Panel 1", "Room A",
                {"notification_id": str(outbox_id)}, None, utcnow() + timedelta(minutes=10))


def test_the_same_notification_twice_to_one_device_is_a_duplicate(fake_fcm, firebase_app):
    sender = FcmSender(firebase_app, fake_fcm.url)
    now = utcnow()
    sender.send([push(1, "fid-a"), push(2, "fid-a"), push(1, "fid-b")], now)
    assert fake_fcm.stats()["duplicates"] == 0  # other notification, or other device

    sender.send([push(1, "fid-a")], now)
    stats = fake_fcm.stats()
    assert (stats["received"], stats["duplicates"]) == (4, 1)

    fake_fcm.reset()
    assert fake_fcm.stats()["duplicates"] == 0
