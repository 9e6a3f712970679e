"""`python -m bot`: run the bot."""

import sys

from bot.app import main

sys.exit(main())
