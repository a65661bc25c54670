"""FastAPI dependencies, defined once as Annotated aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from eventcrm.container import Container
from eventcrm.storage.ports import UnitOfWork

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_container(request: Request) -> Container:
    # Dependencies are async on purpose: FastAPI runs plain `def` ones in a thread pool.
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_unit_of_work(request: Request, container: ContainerDep) -> AsyncIterator[UnitOfWork]:
    """The request boundary owns the transaction: commit on success, roll back on error."""
    async with container.storage.unit_of_work(write=request.method not in _READ_METHODS) as uow:
        yield uow
        await uow.commit()


# scope="function": commit before the response is sent, so a failed commit is
# reported to the client instead of after it has been told "201 Created".
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]
