-- write.lua: (being written) installs its names into vs.
return function(vs) end
