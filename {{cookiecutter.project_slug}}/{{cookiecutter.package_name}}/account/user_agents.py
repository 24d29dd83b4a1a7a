"""A short, human description of a User-Agent string for the sessions page."""

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
]
SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
]


def describe_user_agent(user_agent: str | None) -> str:
    if not user_agent:
        return "Unknown browser"
    browser = next((name for marker, name in BROWSERS if marker in user_agent), "Unknown browser")
    system = next((name for marker, name in SYSTEMS if marker in user_agent), None)
    return f"{browser} on {system}" if system else browser
