"""One router per area; each registers its commands, payloads and hooks with the dispatcher."""
