"""`manage.py compile_pipeline FILE --engine spark [--check]`: print the generated job."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from studio.pipelines.management.cli import add_document_arguments, compile_or_fail


class Command(BaseCommand):
    help = "Validate a pipeline document and print the code generated for an engine."

    def add_arguments(self, parser: Any) -> None:
        add_document_arguments(parser)
        parser.add_argument("--check", action="store_true", help="Only validate; print nothing on success.")

    def handle(self, *args: Any, **options: Any) -> None:
        job = compile_or_fail(options)
        if not options["check"]:
            self.stdout.write(job.code, ending="")
