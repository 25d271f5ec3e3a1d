"""The ages stage: estimate each face's age and sort it into a developmental age group.

Only the group arithmetic is imported here (no torch), so the config check can use it.
"""

from devfer.ages.groups import AgeGroup, bucket, known_age_rows, parse_groups

__all__ = ["AgeGroup", "bucket", "known_age_rows", "parse_groups"]
