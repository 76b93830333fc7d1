# A terminal command, run inside a sandbox: $1 is the directory it starts in, $2 the command.
# The directory it ends in goes to the side channel, so the next command starts there.
trap 'pwd >&"$ORBITER_SIDE_FD"' EXIT
cd -- "$1" 2>/dev/null || { echo "orbiter: $1: no such directory; starting in $HOME" >&2; cd; }
eval "$2"
