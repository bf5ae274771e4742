// The trace file format's name and version, alone in a module of their own so that the record
// types (types.ts) and the header/footer builders (format.ts) can both name them without
// importing each other.
export const TRACE_FORMAT = 'pausetrace-trace'
export const TRACE_FORMAT_VERSION = 1
