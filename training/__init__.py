"""Training side of rain_seg_ros: scenes, datasets, models, losses, commands.

Run `python -m training --help` for the command list.
"""
