#!/usr/bin/env node
// React (the Ink view of watch and replay --tui) picks its build from NODE_ENV when it is first
// loaded: the development build's checks cost memory and time. Production unless told otherwise;
// set before anything is imported (a static import would run first).
process.env.NODE_ENV ??= 'production'
const {execute} = await import('@oclif/core')

await execute({dir: import.meta.url})
