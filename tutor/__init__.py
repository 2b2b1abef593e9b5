"""concurrency-tutor: predict, then measure, threads vs processes vs asyncio.

Kept deliberately empty of imports: `tutor run`, `tutor lint` and `tutor lessons`
must start without paying for Textual.
"""

__version__ = "0.1.0"
