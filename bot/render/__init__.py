"""What the bot and the command line show: Telegram HTML (html.py) and plain terminal text
(text.py), both pure functions of the values the service and retrieval return."""
