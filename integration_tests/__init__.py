"""Integration tests of the DR stage: a smoke test of the health-check function and a real
on-demand backup job, against a deployed stage (the pipeline's post-deploy step, or a
developer) or, with no AWS at all, against local stand-ins (see README.md)."""
