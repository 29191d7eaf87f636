"""Orders (订单) from accepted quotes, the API and imports, with payment status; the purchase
history other modules read."""
