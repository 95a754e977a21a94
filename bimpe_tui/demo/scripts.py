"""Scripted customer/assistant exchanges that give the demo world its content."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLOSING", "ESCALATION", "EXCHANGES", "TAKEOVER_REPLY", "Exchange"]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One customer question and the reply to it.

    Templates may use ``{order}``, ``{ref}``, ``{time}``, ``{qty}``, ``{name}`` and
    ``{day}``. ``customer_attachment`` / ``reply_attachment`` name an attachment kind
    (``"image"`` or ``"document"``) or are empty. ``reply_role`` lets a human take over.
    """

    customer: str
    reply: str
    customer_attachment: str = ""
    reply_attachment: str = ""
    reply_role: str = "assistant"


_SHARED: tuple[Exchange, ...] = (
    Exchange(
        "Bonjour ! Est-ce que vous parlez français ? J'ai une question rapide.",
        "Bien sûr, {name} ! Je peux vous aider en français. Quelle est votre question ?",
    ),
    Exchange(
        "Thank you so much 🙏🏾 you've been really helpful today 😊",
        "You're very welcome, {name}! 🎉 Have a lovely {day}.",
    ),
    Exchange(
        "你好，请问可以用中文沟通吗？我想确认一下订单 {order}。",  # noqa: RUF001
        "您好！当然可以。订单 {order} 已确认，我们会尽快为您处理。",  # noqa: RUF001
    ),
    Exchange(
        "مرحبا، هل يمكنني الحصول على المساعدة باللغة العربية؟",
        "أهلاً وسهلاً {name}! نعم بالتأكيد، كيف يمكنني مساعدتك اليوم؟",
    ),
    Exchange(
        "Are you a real person or a bot? 🤖",
        "I'm the virtual assistant for this business. I can handle most questions right away, "
        "and if you'd rather speak to a member of the team I can pass your conversation on.",
    ),
    Exchange(
        "What are your opening hours on {day}?",
        "On {day} we're open from 08:00 to 22:00. Orders and enquiries sent outside those "
        "hours are answered first thing the next morning.",
    ),
)

_RESTAURANT: tuple[Exchange, ...] = (
    Exchange(
        "Hi, I'd like to order {qty} plates of jollof rice with chicken for delivery.",
        "Great choice! That's {qty} x jollof rice with chicken. Could you confirm your "
        "delivery address and a phone number the rider can call?",
    ),
    Exchange(
        "Where is my order {order}? It's been almost an hour.",
        "I'm sorry about the wait, {name}. Order {order} left the kitchen at {time} and the "
        "rider is about 10 minutes away. I've flagged it so it's prioritised.",
    ),
    Exchange(
        "The food that arrived is not what I ordered. This is a photo of it.",
        "I'm really sorry about that. I can see the photo — that's clearly not order {order}. "
        "I've asked the kitchen to send the correct meal right away at no charge, and we'll "
        "refund the delivery fee to your original payment method within 3-5 working days. "
        "You don't need to return the wrong dish; please enjoy it or share it with someone. "
        "Again, apologies for the mix-up, it shouldn't have happened.",
        customer_attachment="image",
    ),
    Exchange(
        "Do you have anything without peanuts? My son is allergic.",
        "Thanks for telling us. The jollof rice, the grilled fish and the plantain are all "
        "prepared without peanuts, but our kitchen does handle peanuts for the suya and the "
        "groundnut stew, so we can't fully rule out cross-contact. If the allergy is severe "
        "I'd recommend speaking with the chef before ordering; I can arrange a quick call.",
    ),
    Exchange(
        "Can I book a table for {qty} people on {day} at {time}?",
        "Let me check with the floor team for you.",
        reply_role="restaurant_user",
    ),
    Exchange(
        "Can I get a receipt for order {order}? I need it for work.",
        "Of course — here is the receipt for order {order} as a PDF.",
        reply_attachment="document",
    ),
    Exchange(
        "Is the pepper soup very spicy? 🌶️🌶️",
        "It has a good kick 🌶️ but we can make it mild if you prefer — just add a note to "
        "your order.",
    ),
    Exchange(
        "I want a refund for order {order}, the rice was cold.",
        "I'm sorry your meal arrived cold, {name}. I've raised refund request {ref} for order "
        "{order}; you'll get a confirmation message once it's processed, usually the same day.",
    ),
    Exchange(
        "Do you cater for events? We have a birthday party for about {qty}0 guests.",
        "Yes, we do! For {qty}0 guests we'd suggest our party trays: jollof or fried rice, "
        "chicken or turkey, moi moi, plantain and a salad, with small chops as a starter. "
        "We need at least 72 hours' notice and a 50% deposit to confirm the date. If you "
        "share the date, the venue and any dietary needs, our events manager will send a "
        "full quote. Delivery and setup within the city are included for orders of this size.",
    ),
)

_HOTEL: tuple[Exchange, ...] = (
    Exchange(
        "Hello, do you have a double room available from {day} for {qty} nights?",
        "Hello {name}! Yes, we have a Deluxe Double with sea view available from {day} for "
        "{qty} nights. Would you like me to hold it for you?",
    ),
    Exchange(
        "I need to cancel my booking {ref}.",
        "I can help with that. Booking {ref} is fully refundable because it's more than 48 "
        "hours before arrival. I've cancelled it and the refund will reach your card within "
        "5-7 working days. Would you like a confirmation email as well?",
    ),
    Exchange(
        "What time is check-in? Our flight lands at {time}.",
        "Check-in starts at 14:00 and check-out is at 12:00. If you land at {time} we can "
        "arrange an airport pickup and, if your room is ready, an early check-in at no extra "
        "cost. Otherwise you're welcome to leave your luggage with us and relax at the pool "
        "bar or in the lounge until it's ready — we'll send you a message the moment it is.",
    ),
    Exchange(
        "Can you send me the invoice for booking {ref}?",
        "Certainly, here is the invoice for booking {ref}.",
        reply_attachment="document",
    ),
    Exchange(
        "Is breakfast included in the rate?",
        "Breakfast is included for all direct bookings. It's served from 06:30 to 10:30 in "
        "the garden restaurant.",
    ),
    Exchange(
        "The air conditioning in room {qty}12 isn't working, see picture.",
        "Thank you for the photo, {name}, and sorry for the discomfort. Maintenance is on "
        "the way to room {qty}12 now; if it can't be fixed within 30 minutes we'll move you "
        "to another room of the same category or better.",
        customer_attachment="image",
    ),
    Exchange(
        "Est-ce que l'hôtel accepte les animaux de compagnie ? Nous voyageons avec notre chien.",
        "Oui, les chiens de petite et moyenne taille sont les bienvenus, avec un supplément "
        "de 15 € par nuit. Nous prévoyons un panier et des gamelles dans la chambre. 🐕",
    ),
    Exchange(
        "チェックインは何時からですか？",  # noqa: RUF001
        "チェックインは14時から、チェックアウトは12時までです。空港送迎も手配できます。",
    ),
    Exchange(
        "Could you recommend a restaurant nearby for tonight? Something local.",
        "Happily! Within walking distance there's a seafood grill on the marina, very popular "
        "with guests — try the grilled croaker and the coconut rice. If you'd like something "
        "livelier, the rooftop place two streets away has live music from 20:00. Shall I book "
        "a table for you at {time}? I just need the number of guests and a name.",
    ),
)

_SHOP: tuple[Exchange, ...] = (
    Exchange(
        "Hi, has my order {order} shipped yet?",
        "Hi {name}! Yes, order {order} was shipped this morning. Your tracking reference is "
        "{ref}; delivery is expected within 2 working days.",
    ),
    Exchange(
        "I'd like to return the dress from order {order}, it doesn't fit.",
        "No problem. Returns are free within 30 days. I've created return {ref} for order "
        "{order}; pack the item with its tags attached and drop it at any pickup point. The "
        "refund is issued as soon as the parcel is scanned, and you'll get an email at each "
        "step. If you'd prefer to exchange it for another size instead, just reply with the "
        "size and we'll reserve it for you today.",
    ),
    Exchange(
        "Here's the receipt from my bank, the payment went through twice.",
        "Thank you for sending that. I can see the duplicate charge for order {order}. The "
        "second payment has been reversed; banks usually show it back in your account within "
        "3 working days.",
        customer_attachment="document",
    ),
    Exchange(
        "What size should I get? I'm usually a medium in UK sizes.",
        "Our adire pieces run slightly small, so we'd suggest a large for a relaxed fit. "
        "The size guide is attached.",
        reply_attachment="document",
    ),
    Exchange(
        "Do you ship to Accra? 🇬🇭",
        "Yes! We ship to Ghana in 4-6 working days. Shipping is free on orders over ₦50,000.",
    ),
    Exchange(
        "Is this fabric pattern still available? Photo attached.",
        "That's our indigo Eleko pattern — we have {qty} metres left in stock. Would you "
        "like me to reserve some for you?",
        customer_attachment="image",
    ),
    Exchange(
        "My refund for order {order} hasn't arrived.",
        "I'm sorry for the delay, {name}. I've checked: the refund for order {order} was "
        "processed on {day} under reference {ref}. Depending on your bank it can take up to "
        "10 working days to show. If it's not there by then, reply here and I'll escalate it "
        "to our finance team straight away.",
    ),
    Exchange(
        "Olá! Vocês enviam para o Brasil? Adorei as peças. 😍",
        "Olá, {name}! Sim, enviamos para o Brasil em 7 a 10 dias úteis. Obrigado! 💛",
    ),
)

EXCHANGES: dict[str, tuple[Exchange, ...]] = {
    "restaurant": _RESTAURANT + _SHARED,
    "hotel": _HOTEL + _SHARED,
    "shop": _SHOP + _SHARED,
}
"""Exchange bank per kind of business."""

ESCALATION = Exchange(
    "Sorry, this isn't helping. Can I talk to a real person, please?",
    "Of course, {name}. I've asked a member of the team to join this conversation; "
    "they'll reply here shortly.",
)
"""The exchange in which a newcomer's customer asks for a person."""

TAKEOVER_REPLY = (
    "Hi {name}, I'm from the team and I've read through your conversation — sorry for the "
    "wait. I'll take it from here."
)
"""A staff member's first answer after a customer asked for a person."""

CLOSING = Exchange(
    "That's everything, thanks for your help 🙏🏾",
    "You're welcome, {name}! Have a lovely {day}. 👋🏾",
)
"""The last exchange of every newcomer's life."""
