import TributaryCommands

await TributaryCommand.runAsMain()
