"""Capture: the tracking script's collection endpoint, web forms, and anonymous visitors becoming known.

- `tracking`: judging a batch of page views and storing it in one bulk insert;
- `identity`: joining a visitor's anonymous history to a contact, and signed contact links;
- `forms`: what a form's fields may map to, and turning a submission into contact, company, lead and consent;
- `protection`: the public form's honeypot, minimum fill time, rate limit and size limits;
- `building`: setting up tracked sites and forms (admins and marketers); `selectors`: consents read back.
"""
