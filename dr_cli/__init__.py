"""`dr`: the runbook as code. Status, restore and drill of a deployed DR stage by name (its
stacks' outputs), with dr_common's canary reading and RPO/RTO arithmetic: the same figures the
scheduled restore validator reports.

Modules: `main` (the command line), `aws` (sessions, bounded clients, one-line errors),
`stage` (a stage's resources from its outputs), `progress` (bounded waits that print elapsed
time), `restores` (starting a restore into a new resource and waiting for it), `reading`
(the restored copy's canary), `cutover` (the steps after a restore), `status`, `restore`,
`drill`, `render` (tables and JSON).
"""
