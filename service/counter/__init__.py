"""The counter's use cases and rules: applications, surveys, judgement, issuance, copies, revocation, residents, lifecycle."""
