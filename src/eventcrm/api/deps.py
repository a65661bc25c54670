"""FastAPI dependencies, defined once as Annotated aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Annotated

from fastapi import Depends, Request

from eventcrm.container import Container
from eventcrm.storage.ports import Storage, UnitOfWork

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def container_of(request: Request) -> Container:
    """The app's container, for the dependencies of every request (``get_actor``,
    budgets, the unit of work): read directly rather than through ``ContainerDep``,
    because FastAPI walks a sub-dependency's whole tree again at each reference,
    cached or not, and that walk is a good part of a short request's CPU."""
    container: Container = request.app.state.container
    return container


async def get_container(request: Request) -> Container:
    # Dependencies are async on purpose: FastAPI runs plain `def` ones in a thread pool.
    return container_of(request)


ContainerDep = Annotated[Container, Depends(get_container)]


class RequestTransaction:
    """The request's unit of work, opened when first asked for.

    Almost every handler asks for it at once (through a service). A
    registration that joins its event's batch never does: the batcher owns
    that transaction, and the request holds neither a connection nor, on
    SQLite, the database's write lock while it waits (docs/architecture.md).
    """

    def __init__(self, storage: Storage, *, write: bool) -> None:
        self._storage = storage
        self._write = write
        self._opening: AbstractAsyncContextManager[UnitOfWork] | None = None
        self._uow: UnitOfWork | None = None
        self._on_close: list[Callable[[], None]] = []

    async def open(self) -> UnitOfWork:
        if self._uow is None:
            opening = self._storage.unit_of_work(write=self._write)
            self._uow = await opening.__aenter__()
            self._opening = opening  # entered: to be exited
        return self._uow

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the transaction is over (committed or rolled
        back) and its connection released, whatever happened."""
        self._on_close.append(callback)

    async def commit(self) -> None:
        if self._uow is not None:
            await self._uow.commit()

    async def __aenter__(self) -> RequestTransaction:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back what was not committed and release the connection."""
        try:
            if self._opening is not None:
                await self._opening.__aexit__(exc_type, exc, tb)
        finally:
            for callback in self._on_close:
                callback()


async def get_transaction(request: Request) -> AsyncIterator[RequestTransaction]:
    """The request boundary owns the transaction: commit on success, roll back on error."""
    write = request.method not in _READ_METHODS
    async with RequestTransaction(container_of(request).storage, write=write) as transaction:
        yield transaction
        await transaction.commit()


# scope="function": commit before the response is sent, so a failed commit is
# reported to the client instead of after it has been told "201 Created".
TransactionDep = Annotated[RequestTransaction, Depends(get_transaction, scope="function")]


async def get_unit_of_work(transaction: TransactionDep) -> UnitOfWork:
    """The request's unit of work, open (the one every service of the request shares)."""
    return await transaction.open()


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
