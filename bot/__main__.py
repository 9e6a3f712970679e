"""`python -m bot`: run the bot."""

import sys

from bot.process import main

sys.exit(main())
