"""§4.4 / §5.2: every message type is stored and forwarded with content.type."""

import pytest

from helpers import CUSTOMER, DISPLAY_PHONE, PHONE_NUMBER_ID, post, wait_events
from tools import cloudapi_sim as sim


def _unknown_type(wamid, from_):
    return sim.message(wamid, from_, "order",
                       {"catalog_id": "123", "product_items": [
                           {"product_retailer_id": "sku-1", "quantity": "1",
                            "item_price": "10.0", "currency": "EUR"}]})


def _future_type(wamid, from_):
    return sim.message(wamid, from_, "hologram", {"shape": "cube", "depth": 3})


CASES = {
    "image": (lambda w, f: sim.image_message(w, f, caption="Taj Mahal"), "image"),
    "video": (lambda w, f: sim.video_message(w, f), "video"),
    "audio": (lambda w, f: sim.audio_message(w, f), "audio"),
    "document": (lambda w, f: sim.document_message(w, f, caption="my receipt"), "document"),
    "sticker": (lambda w, f: sim.sticker_message(w, f), "sticker"),
    "location": (lambda w, f: sim.location_message(w, f, loc_name="Philz Coffee",
                                                  address="101 Forest Ave"), "location"),
    "reaction": (lambda w, f: sim.reaction_message(w, f, "wamid.REACTED.TO"), "reaction"),
    "button_reply": (lambda w, f: sim.button_reply_message(w, f, "cancel-button", "Cancel"),
                     "interactive"),
    "list_reply": (lambda w, f: sim.list_reply_message(w, f, "priority_express",
                                                      "Priority Mail Express"), "interactive"),
    "template_button": (lambda w, f: sim.template_button_message(w, f, "Unsubscribe"), "button"),
    "contacts": (lambda w, f: sim.contacts_message(w, f), "contacts"),
    "system": (lambda w, f: sim.system_message(w, f, "12195555358"), "system"),
    "unsupported": (lambda w, f: sim.unsupported_message(w, f, "poll_creation"), "unsupported"),
    "unknown_order": (_unknown_type, None),
    "unknown_future": (_future_type, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_message_type_forwarded(gw, receiver, case):
    build, want_type = CASES[case]
    msg = build(sim.new_wamid(), CUSTOMER)
    status, text = post(gw, sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]))
    assert status == 200, text
    ev = wait_events(receiver, 1)[0]
    p = ev["payload"]
    assert p["from"] == "+" + CUSTOMER
    content = p["content"]
    assert isinstance(content.get("type"), str) and content["type"], content
    if want_type is not None:
        assert content["type"] == want_type, content
    else:
        # a type the gateway does not know: forwarded, flagged as the type or as unsupported
        assert content["type"] in (msg["type"], "unsupported"), content

    if case == "image":
        media = content["media"]
        assert media["id"] == "1003383421387256"
        assert media["mime_type"] == "image/jpeg"
        assert media["sha256"] == "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI="
        assert media["caption"] == "Taj Mahal"
    elif case == "document":
        assert content["media"]["filename"] == "receipt.pdf"
        assert content["media"]["mime_type"] == "application/pdf"
    elif case in ("video", "audio", "sticker"):
        assert content["media"]["id"] == msg[case]["id"]
    elif case == "location":
        loc = content["location"]
        assert abs(float(loc["latitude"]) - 37.44221496582) < 1e-9
        assert abs(float(loc["longitude"]) - -122.16165924072) < 1e-9
    elif case == "reaction":
        assert content["reaction"]["emoji"] == "\U0001F44D"
    elif case == "button_reply":
        assert content["interactive"]["type"] == "button_reply"
        assert content["interactive"]["id"] == "cancel-button"
        assert content["interactive"]["title"] == "Cancel"
    elif case == "list_reply":
        assert content["interactive"]["type"] == "list_reply"
        assert content["interactive"]["id"] == "priority_express"
        assert content["interactive"]["title"] == "Priority Mail Express"


def test_all_types_in_one_batch(gw, receiver):
    msgs = []
    for i, (name, (build, _)) in enumerate(CASES.items()):
        msgs.append(build(sim.new_wamid(), "3360000%04d" % i))
    status, text = post(gw, sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, msgs))
    assert status == 200, text
    evs = wait_events(receiver, len(msgs))
    assert len(evs) == len(msgs)
    assert sorted(e["payload"]["from"] for e in evs) == sorted("+" + m["from"] for m in msgs)
    assert all(e["payload"]["content"].get("type") for e in evs)
