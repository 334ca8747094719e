"""Use cases: load -> decide -> persist -> act. The web and webhook layers call these."""
