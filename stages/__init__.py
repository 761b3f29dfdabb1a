"""The disaster-recovery Stage: configuration, stacks and one construct per concern."""
