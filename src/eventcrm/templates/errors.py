"""Errors of the email templates feature.

TemplateError
├── TemplateNotFound        (NotFound)
├── TemplateIdTaken         (Conflict)
├── TemplateNameTaken       (Conflict)
├── TemplateInUse           (Conflict)
├── InvalidTemplate         (InvalidInput)  syntax error, caught when saved
├── TemplateRenderFailed    (InvalidInput)  a valid template failed on this data
└── TemplateLimitExceeded   (InvalidInput)  rendering needed more output, steps or time
                                            than the render limits allow
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound


class TemplateError(DomainError):
    """Base for the templates feature."""


class TemplateNotFound(TemplateError, NotFound):
    code = "template_not_found"
    title = "Template not found"

    def __init__(self, template_id: str) -> None:
        super().__init__(f"No email template with id {template_id!r}.")


class TemplateIdTaken(TemplateError, Conflict):
    code = "template_id_taken"
    title = "Template id already exists"

    def __init__(self, template_id: str) -> None:
        super().__init__(f"An email template with id {template_id!r} already exists.")


class TemplateNameTaken(TemplateError, Conflict):
    code = "template_name_taken"
    title = "Template name already in use"

    def __init__(self, name: str) -> None:
        super().__init__(f"Another email template is already named {name!r}.")


class TemplateInUse(TemplateError, Conflict):
    code = "template_in_use"
    title = "Template in use"

    def __init__(self, template_id: str) -> None:
        super().__init__(
            f"Email template {template_id!r} is used by a draft or scheduled campaign; "
            "change or delete those campaigns first."
        )


class InvalidTemplate(TemplateError, InvalidInput):
    code = "invalid_template"
    title = "Invalid template"

    def __init__(self, problems: list[FieldProblem]) -> None:
        detail = "; ".join(f"{p.loc[-1]}: {p.message}" for p in problems)
        super().__init__(f"The template does not compile: {detail}", problems)


class TemplateRenderFailed(TemplateError, InvalidInput):
    code = "template_render_failed"
    title = "Template failed to render"

    def __init__(self, message: str) -> None:
        super().__init__(
            f"The template failed to render: {message}",
            [FieldProblem(("body",), message, "template_render")],
        )


class TemplateLimitExceeded(TemplateError, InvalidInput):
    code = "template_limit_exceeded"
    title = "Template exceeds a render limit"

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(
            f"The template exceeds the render limit on {limit}: {message}",
            [FieldProblem(("body",), f"{limit} limit: {message}", f"template_limit_{limit}")],
        )
        self.limit = limit
