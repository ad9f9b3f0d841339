"""Platform code for backbone fine-tune jobs (CV and Audio): mounted read-only at /platform.

Entry points: `python3 -m proctor_backbone.cv /output/job.json`,
`python3 -m proctor_backbone.audio /output/job.json`, `python3 -m proctor_backbone.cvdata <dir> <name>`,
`python3 -m proctor_backbone.audiodata <dir> <name>`.
"""
