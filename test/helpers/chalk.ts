// Exact frames are compared without colour: chalk's level is 0 for the suite, and given back after.
import chalk from 'chalk'

export function withoutColour(): void {
  let level: typeof chalk.level
  before(() => {
    level = chalk.level
    chalk.level = 0
  })
  after(() => {
    chalk.level = level
  })
}
